import sys

from report.job import main

sys.exit(main())
