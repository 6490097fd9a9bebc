"""``python -m feedbacksim`` runs the command line."""

import sys

from feedbacksim.cli import main

sys.exit(main())
