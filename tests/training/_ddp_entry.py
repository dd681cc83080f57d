"""Entry point for the DDP test: registers the test backbone in each torchrun process, then runs `agegender train`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agegender.cli import main  # noqa: E402
from tests.support import register_tiny_backbone  # noqa: E402

register_tiny_backbone()
sys.exit(main(sys.argv[1:]))
