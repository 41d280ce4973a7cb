package instagram

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/domain"
)

// NewSender returns Instagram's sender: the Send API on the professional account
// (graph.instagram.com with Instagram Login; the link's base URL may point at graph.facebook.com
// for the Facebook Login flavour, which takes the same body).
func NewSender(baseURLs platforms.BaseURLs) platforms.Sender {
	return meta.NewSendAPI(domain.PlatformInstagram, baseURLs, meta.DefaultInstagramBaseURL, nil)
}
