package messenger

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/domain"
)

// NewSender returns Messenger's sender: the Send API on the Page (meta.SendAPI).
func NewSender(baseURLs platforms.BaseURLs) platforms.Sender {
	return meta.NewSendAPI(domain.PlatformMessenger, baseURLs, meta.DefaultGraphBaseURL, nil)
}
