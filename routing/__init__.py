"""Where is it: il/ilçe and jurisdiction lookup on real boundaries, location fusion, travel times."""
