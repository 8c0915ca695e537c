import sys

from procrustean.cli import main

sys.exit(main())
