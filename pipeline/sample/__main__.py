"""``python -m pipeline.sample OUT_DIR [SEED]``: generate the synthetic sample."""

from . import main

main()
