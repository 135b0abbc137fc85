"""`python -m feedsim`: run the Hydra app."""
from feedsim.cli import main

main()
