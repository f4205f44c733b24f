package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// credentialBox encrypts sender secrets (access tokens, app secrets) at rest
// with AES-256-GCM, so a database dump does not hand out the keys to a
// WhatsApp Business Account.
type credentialBox struct{ aead cipher.AEAD }

// UseCredentialKey sets the 32-byte key that seals stored credentials;
// cmd/herald derives it from HERALD_SECRET. Without it, saving a credential
// fails rather than storing it in the clear.
func (s *Store) UseCredentialKey(key []byte) error {
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("models: credential key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("models: credential key: %w", err)
	}
	s.creds = &credentialBox{aead: aead}
	return nil
}

var errNoCredentialKey = errors.New("models: no credential key set; call UseCredentialKey")

func (b *credentialBox) seal(plain string) ([]byte, error) {
	if b == nil {
		return nil, errNoCredentialKey
	}
	if plain == "" {
		return nil, nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("models: seal credential: %w", err)
	}
	return b.aead.Seal(nonce, nonce, []byte(plain), nil), nil
}

func (b *credentialBox) open(sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	if b == nil {
		return "", errNoCredentialKey
	}
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("models: sealed credential is truncated")
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("models: open credential (was HERALD_SECRET changed?): %w", err)
	}
	return string(plain), nil
}
