package handlers

// campaignsRoutes registers the campaigns pages and API endpoints.
func (h *Handlers) campaignsRoutes(r routes) {}
