from ccspend.entry import main

main()
