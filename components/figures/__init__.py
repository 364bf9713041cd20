"""Pure figure builders: DataFrame in, go.Figure out."""
