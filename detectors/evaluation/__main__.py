from detectors.evaluation.cli import main

main()
