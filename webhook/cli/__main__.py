"""`python -m webhook.cli`: the `initgate` command."""

import sys

from webhook.cli.main import main

sys.exit(main())
