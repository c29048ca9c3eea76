import sys

from iscg_bot.cli import main

sys.exit(main())
