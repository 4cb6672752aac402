from edge_agent.cli.main import main

main()
