"""The map: roads of the city drawn from its own TIGER data, incidents, units, stations and
callers, fully offline. Import the module you need; the package imports nothing, so the window
can name `ui.map.docks.MapDocks` without loading pyqtgraph (it loads behind the board):

- ``docks``: the window's map docks, their shared model, what the window does for them;
- ``panel``: one map panel (toolbar, selection, context menu, routes, layout state);
- ``view``: the pyqtgraph view in metres, mouse and keys;
- ``roads``: roads by class and street names;
- ``markers``: markers from numpy arrays, drawn in one call;
- ``model``: what every map shows, as arrays, kept up to date once;
- ``shapes``: a caller's uncertainty shape as outlines;
- ``style``: how it looks in each theme.
"""
