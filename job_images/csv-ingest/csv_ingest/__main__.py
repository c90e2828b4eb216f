import sys

from csv_ingest.job import main

sys.exit(main())
