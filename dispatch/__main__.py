"""``python -m dispatch`` runs the ``ng112`` command line."""

from dispatch.app.cli import main

raise SystemExit(main())
