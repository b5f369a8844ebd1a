from __future__ import annotations

import sys

from llmga.cli import main

sys.exit(main())
