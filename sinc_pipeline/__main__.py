from sinc_pipeline.cli.main import main

raise SystemExit(main())
