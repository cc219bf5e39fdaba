from sinc_pipeline.cli import main

raise SystemExit(main())
