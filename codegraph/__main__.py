from codegraph.cli import main

raise SystemExit(main())
