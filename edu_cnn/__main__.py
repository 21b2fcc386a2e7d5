"""``python -m edu_cnn`` – see :mod:`edu_cnn.cli`."""

from edu_cnn.cli import main

raise SystemExit(main())
