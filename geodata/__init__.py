"""Geography and files: scenarios read and validated, the sample, land, route maps, formats."""
