"""`python -m videolens.cli`: the same as the `videolens` console script."""

from videolens.cli import main

main()
