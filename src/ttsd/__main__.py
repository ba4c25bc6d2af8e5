"""`python -m ttsd`."""

from ttsd.cli import main

main()
