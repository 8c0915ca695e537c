import sys

from procrustean.ui.cli import main

sys.exit(main())
