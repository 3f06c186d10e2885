from detectors.training.cli import main

main()
