package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// maxExampleBytes caps a template's media example; Meta's own limits are
// 5 MB for images and 16 MB for video and documents.
const maxExampleBytes = 16 << 20

// UploadExample uploads a template's sample media with Meta's Resumable
// Upload API and returns the handle to put in a media HEADER's
// example.header_handle: Meta reviews templates against this file, not a
// URL. appID is the Meta app's id (the upload session belongs to the app).
func (c *Client) UploadExample(ctx context.Context, appID, fileName, mimeType string, data []byte) (string, error) {
	if appID == "" {
		return "", fmt.Errorf("%w: uploading a media example needs the Meta app id (WHATSAPP_APP_ID)", ErrInvalidMessage)
	}
	if len(data) == 0 || len(data) > maxExampleBytes {
		return "", fmt.Errorf("%w: media example of %d bytes (1 byte to 16 MB)", ErrInvalidMessage, len(data))
	}
	q := url.Values{"file_name": {fileName}, "file_length": {strconv.Itoa(len(data))}, "file_type": {mimeType}}
	var session struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, c.endpoint(url.PathEscape(appID)+"/uploads", q), nil, &session); err != nil {
		return "", fmt.Errorf("whatsapp: start upload of %s: %w", fileName, err)
	}
	if session.ID == "" {
		return "", fmt.Errorf("whatsapp: start upload of %s: no session id in the answer", fileName)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(session.ID, nil), bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("whatsapp: upload %s: %w", fileName, err)
	}
	// The upload step authenticates with "OAuth", not "Bearer" (Meta's docs).
	req.Header.Set("Authorization", "OAuth "+c.cfg.Token)
	req.Header.Set("file_offset", "0")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("whatsapp: upload %s: %w", fileName, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return "", fmt.Errorf("whatsapp: upload %s: read answer: %w", fileName, err)
	}
	if resp.StatusCode != http.StatusOK {
		if me := parseMetaError(resp.StatusCode, body); me != nil {
			return "", fmt.Errorf("whatsapp: upload %s: %w", fileName, me)
		}
		return "", fmt.Errorf("whatsapp: upload %s: %w", fileName, &HTTPError{StatusCode: resp.StatusCode, Body: string(body)})
	}
	var out struct {
		H string `json:"h"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.H == "" {
		return "", fmt.Errorf("whatsapp: upload %s: no handle in the answer %q", fileName, body)
	}
	return out.H, nil
}
