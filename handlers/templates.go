package handlers

// templatesRoutes registers the templates pages and API endpoints.
func (h *Handlers) templatesRoutes(r routes) {}
