from ccspend.cli.fast.entry import main

main()
