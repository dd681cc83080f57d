"""``python -m agegender`` runs the command-line interface."""

from agegender.cli import main

raise SystemExit(main())
