import sys

from nlvision.cli import main

sys.exit(main())
