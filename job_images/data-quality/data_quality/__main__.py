import sys

from data_quality.job import main

sys.exit(main())
