//! Admin rights and member permissions: the closed sets of names the Bot API
//! knows, written in config without the `can_` prefix.
//!
//! One enum each, so that a typo is a compile error here and a diagnostic
//! with a did-you-mean in a config, and so that sets of them sort and compare.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ChatType;

macro_rules! name_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The config name (the Bot API field without `can_`).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            fn prefixed_field(self) -> &'static str {
                match self { $($name::$variant => concat!("can_", $text)),* }
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok($name::$variant),)* _ => Err(()) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

name_enum! {
    /// A field of ChatAdministratorRights.
    Right {
        Anonymous = "anonymous",
        ManageChat = "manage_chat",
        DeleteMessages = "delete_messages",
        ManageVideoChats = "manage_video_chats",
        RestrictMembers = "restrict_members",
        PromoteMembers = "promote_members",
        ChangeInfo = "change_info",
        InviteUsers = "invite_users",
        PostStories = "post_stories",
        EditStories = "edit_stories",
        DeleteStories = "delete_stories",
        SendWelcomeMessages = "send_welcome_messages",
        PostMessages = "post_messages",
        EditMessages = "edit_messages",
        PinMessages = "pin_messages",
        ManageTopics = "manage_topics",
        ManageDirectMessages = "manage_direct_messages",
        ManageTags = "manage_tags",
    }
}

name_enum! {
    /// A field of ChatPermissions.
    Permission {
        SendMessages = "send_messages",
        SendAudios = "send_audios",
        SendDocuments = "send_documents",
        SendPhotos = "send_photos",
        SendVideos = "send_videos",
        SendVideoNotes = "send_video_notes",
        SendVoiceNotes = "send_voice_notes",
        SendPolls = "send_polls",
        SendOtherMessages = "send_other_messages",
        AddWebPagePreviews = "add_web_page_previews",
        ReactToMessages = "react_to_messages",
        EditTag = "edit_tag",
        ChangeInfo = "change_info",
        InviteUsers = "invite_users",
        PinMessages = "pin_messages",
        ManageTopics = "manage_topics",
    }
}

impl Right {
    /// The Bot API field name.
    pub fn api_field(self) -> &'static str {
        match self {
            Right::Anonymous => "is_anonymous",
            other => other.prefixed_field(),
        }
    }

    /// Whether the right exists for admins of this chat type.
    pub fn valid_for(self, chat: ChatType) -> bool {
        use Right::*;
        match self {
            PostMessages | EditMessages | ManageDirectMessages => chat == ChatType::Channel,
            PinMessages | ManageTopics | ManageTags => chat != ChatType::Channel,
            _ => true,
        }
    }

    /// Rights that `all` stands for in a chat of this type. Anonymity is a
    /// choice, not a right, so it is never implied.
    pub fn all_for(chat: ChatType) -> BTreeSet<Right> {
        Right::ALL
            .iter()
            .copied()
            .filter(|r| *r != Right::Anonymous && r.valid_for(chat))
            .collect()
    }

    /// The seat a role's rights give in a chat of this type: the rights
    /// that exist there, plus `manage_chat`, which Telegram implies with any
    /// other right.
    pub fn seat_for(rights: &BTreeSet<Right>, chat: ChatType) -> BTreeSet<Right> {
        let mut seat: BTreeSet<Right> = rights
            .iter()
            .copied()
            .filter(|r| r.valid_for(chat))
            .collect();
        if !seat.is_empty() {
            seat.insert(Right::ManageChat);
        }
        seat
    }

    /// Rights the Bot API marks as required in ChatAdministratorRights: they
    /// are always present (true or false) in an administrator object.
    pub fn always_present(self) -> bool {
        use Right::*;
        !matches!(
            self,
            PostMessages
                | EditMessages
                | PinMessages
                | ManageTopics
                | ManageDirectMessages
                | ManageTags
        )
    }
}

impl Permission {
    pub fn api_field(self) -> &'static str {
        self.prefixed_field()
    }

    /// Everything a member without restrictions may do.
    pub fn all() -> BTreeSet<Permission> {
        Permission::ALL.iter().copied().collect()
    }

    /// Permission names that stand for several permissions.
    pub fn group(name: &str) -> Option<&'static [Permission]> {
        use Permission::*;
        match name {
            "send_media" => Some(&[
                SendAudios,
                SendDocuments,
                SendPhotos,
                SendVideos,
                SendVideoNotes,
                SendVoiceNotes,
            ]),
            "react" => Some(&[ReactToMessages]),
            "send_other" => Some(&[SendOtherMessages]),
            "web_page_previews" => Some(&[AddWebPagePreviews]),
            "all" => Some(Permission::ALL),
            _ => None,
        }
    }

    /// Every name a config may use: the permissions and the group names.
    pub fn config_names() -> Vec<&'static str> {
        let mut names: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
        names.extend([
            "send_media",
            "react",
            "send_other",
            "web_page_previews",
            "all",
        ]);
        names
    }

    /// Expand one config name into permissions.
    pub fn expand(name: &str) -> Option<Vec<Permission>> {
        if let Some(group) = Permission::group(name) {
            return Some(group.to_vec());
        }
        name.parse().ok().map(|p| vec![p])
    }
}

pub type Rights = BTreeSet<Right>;
pub type Permissions = BTreeSet<Permission>;
