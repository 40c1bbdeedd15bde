"""Analytics over the CIPD graph: networkx projections, metrics, figures and reports."""
