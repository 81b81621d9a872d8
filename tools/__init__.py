"""Project tools that are neither the library nor its tests: the browser check of the built book."""
