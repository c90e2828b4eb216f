"""Registries images are pushed to: ECR, an external registry, or the local one; and whether one holds a digest."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

from batchplane.errors import RegistryError, ToolError
from batchplane.spec.loader import Spec

# ECR's answers that mean "no such image", as opposed to "could not ask".
_ECR_NOT_FOUND = ("ImageNotFoundException", "RepositoryNotFoundException")
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)


@dataclass(frozen=True)
class Registry:
    """Where images are pushed: ECR, an external registry, or the local one."""

    host: str
    kind: Literal["ecr", "external", "local"]
    region: str = ""
    account_id: str = ""

    def repository(self, platform: str, image: str) -> str:
        return f"{self.host}/{platform}/{image}"

    def auth(self) -> dict[str, str] | None:
        """Docker credentials: an ECR token via boto3; None where docker's own config applies."""
        if self.kind != "ecr":
            return None
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            data = boto3.client("ecr", region_name=self.region).get_authorization_token(registryIds=[self.account_id])
        except (BotoCoreError, ClientError) as exc:
            raise ToolError("ecr", [], f"no ECR login for {self.host}: {exc}") from None
        token = data["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token).decode().partition(":")
        return {"username": user, "password": password, "serveraddress": f"https://{self.host}"}

    def has(self, repository: str, digest: str) -> bool:
        """Whether the registry holds ``repository@digest``.

        Only the registry's own "not found" is False. A registry that cannot be
        asked (unreachable, credentials refused, TLS, a server error) raises
        :class:`RegistryError` (exit 5) naming the endpoint and the cause: that
        says nothing about the digest.
        """
        import urllib.error  # late: http.client costs ~60 ms at start-up
        import urllib.request

        path = repository.removeprefix(f"{self.host}/")
        if self.kind == "ecr":
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError

            endpoint = f"ECR {self.host}"
            try:
                boto3.client("ecr", region_name=self.region).describe_images(
                    registryId=self.account_id, repositoryName=path, imageIds=[{"imageDigest": digest}]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _ECR_NOT_FOUND:
                    return False
                raise RegistryError(endpoint, str(exc)) from None
            except BotoCoreError as exc:
                raise RegistryError(endpoint, str(exc)) from None
            return True
        scheme = "http" if self.kind == "local" else "https"
        url = f"{scheme}://{self.host}/v2/{path}/manifests/{digest}"
        request = urllib.request.Request(url, method="HEAD", headers={"Accept": _MANIFEST_TYPES})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            cause = "credentials refused" if exc.code in (401, 403) else "server error"
            raise RegistryError(url, f"HTTP {exc.code} {exc.reason} ({cause})") from None
        except urllib.error.URLError as exc:  # refused, no route, DNS, TLS verification
            raise RegistryError(url, f"unreachable: {exc.reason}") from None
        except OSError as exc:  # a timeout or a connection reset mid-answer
            raise RegistryError(url, f"unreachable: {exc}") from None


def registry_for(spec: Spec, local_registry: str | None) -> Registry:
    """The push target: the local registry in local mode, else the spec's registry."""
    platform = spec.platform
    if local_registry is not None:
        return Registry(local_registry, "local")
    if platform.registry.type == "external":
        return Registry(str(platform.registry.url), "external")
    suffix = "amazonaws.com.cn" if platform.region.startswith("cn-") else "amazonaws.com"
    account = platform.registry_account_id
    return Registry(f"{account}.dkr.ecr.{platform.region}.{suffix}", "ecr", platform.region, account)
