"""`python -m feedsim.experiment`: run an A/B experiment preset."""
from feedsim.experiment.cli import main

main()
