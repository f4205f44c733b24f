package simulator

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// handleStartUpload opens a Resumable Upload session:
// POST /{app-id}/uploads?file_name&file_length&file_type → {"id": "upload:…"}.
func (s *Server) handleStartUpload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	length, err := strconv.Atoi(q.Get("file_length"))
	if err != nil || length <= 0 || q.Get("file_type") == "" {
		writeMetaError(w, http.StatusBadRequest, 100, "(#100) file_length and file_type are required", "")
		return
	}
	s.mu.Lock()
	id := fmt.Sprintf("upload:%s", s.newIDLocked("sess"))
	if s.uploads == nil {
		s.uploads = map[string]int{}
	}
	s.uploads[id] = length
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// handleUpload takes the file bytes of a session and answers the handle a
// template's media example refers to: POST /upload:… → {"h": "…"}.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	want, ok := s.uploads[id]
	s.mu.Unlock()
	if !ok {
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid upload session id", "")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, int64(want)+1))
	if err != nil || len(data) != want {
		writeMetaError(w, http.StatusBadRequest, 100, fmt.Sprintf("(#100) expected %d bytes, got %d", want, len(data)), "")
		return
	}
	s.mu.Lock()
	h := "4::" + s.newIDLocked("h")
	if s.handles == nil {
		s.handles = map[string]bool{}
	}
	s.handles[h] = true
	delete(s.uploads, id)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"h": h})
}

// UploadedHandles lists the media handles uploads produced, for tests.
func (s *Server) UploadedHandles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.handles))
	for h := range s.handles {
		out = append(out, h)
	}
	return out
}
