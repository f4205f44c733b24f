package handlers

// contactsRoutes registers the contacts pages and API endpoints.
func (h *Handlers) contactsRoutes(r routes) {}
