"""The notebook bus: the WebSocket between a notebook's tabs and its engine."""
