from scisync.cli import main

main()
