"""``python -m cipd_graph`` runs the ``cipd`` command line."""

from cipd_graph.cli import main

if __name__ == "__main__":
    main()
