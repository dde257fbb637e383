import sys

from sqzdse.cli import main

sys.exit(main())
