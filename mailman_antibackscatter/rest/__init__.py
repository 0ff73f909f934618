"""The plugin's REST resources, under /3.1/plugins/antibackscatter."""
