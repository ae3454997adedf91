"""``python -m tfbert`` runs the command line."""
import sys

from tfbert.cli import main

sys.exit(main())
