"""The pure routing core of bsb: problem model, OR-Tools model, plan, and independent checker.

Imports neither geopandas, folium nor click.
"""
