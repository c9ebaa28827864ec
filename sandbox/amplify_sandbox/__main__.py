import sys

from amplify_sandbox.cli import main

sys.exit(main())
