from ccspend.cli import main

main()
