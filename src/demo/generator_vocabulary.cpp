#include "demo/generator_vocabulary.h"

#include <iterator>

namespace contacts::demo::vocab {
namespace {

using SV = std::string_view;

// clang-format off

constexpr Name kFirstNames[] = {
    {"James", "james"}, {"Michael", "michael"}, {"Jennifer", "jennifer"}, {"David", "david"},
    {"Sarah", "sarah"}, {"John", "john"}, {"Emily", "emily"}, {"Robert", "robert"},
    {"Jessica", "jessica"}, {"Daniel", "daniel"}, {"Priya", "priya"}, {"Chris", "chris"},
    {"Laura", "laura"}, {"Matthew", "matthew"}, {"Ashley", "ashley"}, {"Andrew", "andrew"},
    {"Rahul", "rahul"}, {"Emma", "emma"}, {"Kevin", "kevin"}, {"Michelle", "michelle"},
    {"Brian", "brian"}, {"Amanda", "amanda"}, {"Mark", "mark"}, {"Olivia", "olivia"},
    {"Thomas", "thomas"}, {"Stephanie", "stephanie"}, {"Ryan", "ryan"}, {"Rebecca", "rebecca"},
    {"Jason", "jason"}, {"Lisa", "lisa"}, {"José", "jose"}, {"María", "maria"}, {"Wei", "wei"},
    {"Mei", "mei"}, {"Amit", "amit"}, {"Ananya", "ananya"}, {"Oliver", "oliver"},
    {"Charlotte", "charlotte"}, {"Lukas", "lukas"}, {"Hannah", "hannah"}, {"Zoë", "zoe"},
    {"Łukasz", "lukasz"}, {"Søren", "soren"}, {"Chloé", "chloe"}, {"François", "francois"},
    {"Jürgen", "juergen"}, {"Hélène", "helene"}, {"Ángel", "angel"}, {"Lucía", "lucia"},
    {"Joaquín", "joaquin"}, {"Małgorzata", "malgorzata"}, {"Bjørn", "bjorn"}, {"Renée", "renee"},
    {"太郎", "taro"}, {"花子", "hanako"}, {"Hiroshi", "hiroshi"}, {"Yuki", "yuki"},
    {"Mohammed", "mohammed"}, {"Fatima", "fatima"}, {"Ahmed", "ahmed"}, {"Olga", "olga"},
    {"Dmitri", "dmitri"}, {"Sofia", "sofia"}, {"Lucas", "lucas"}, {"Mateo", "mateo"},
    {"Camila", "camila"}, {"Valentina", "valentina"}, {"Harry", "harry"}, {"Amelia", "amelia"},
    {"George", "george"}, {"Noah", "noah"}, {"Liam", "liam"}, {"Ava", "ava"}, {"Ethan", "ethan"},
    {"Mia", "mia"}, {"Lena", "lena"}, {"Felix", "felix"}, {"Arjun", "arjun"},
    {"Deepika", "deepika"}, {"Sven", "sven"}, {"Ingrid", "ingrid"}, {"Pierre", "pierre"},
    {"Camille", "camille"}, {"Giulia", "giulia"}, {"Marco", "marco"}, {"Francesca", "francesca"},
    {"Kwame", "kwame"}, {"Amara", "amara"}, {"Thabo", "thabo"}, {"Aisha", "aisha"},
    {"Nikhil", "nikhil"}, {"Sneha", "sneha"}, {"Kenji", "kenji"}, {"Sakura", "sakura"},
    {"Min-jun", "minjun"}, {"Ji-woo", "jiwoo"}, {"Carlos", "carlos"}, {"Ana", "ana"},
    {"Pedro", "pedro"}, {"Chen", "chen"}, {"Isabella", "isabella"}, {"Nathan", "nathan"},
};

constexpr Name kLastNames[] = {
    {"Smith", "smith"}, {"Johnson", "johnson"}, {"Williams", "williams"}, {"Brown", "brown"},
    {"Jones", "jones"}, {"Garcia", "garcia"}, {"Miller", "miller"}, {"Davis", "davis"},
    {"Patel", "patel"}, {"Rodriguez", "rodriguez"}, {"Martinez", "martinez"}, {"Wilson", "wilson"},
    {"Anderson", "anderson"}, {"Taylor", "taylor"}, {"Thomas", "thomas"}, {"Moore", "moore"},
    {"Lee", "lee"}, {"Nguyen", "nguyen"}, {"Kumar", "kumar"}, {"Singh", "singh"},
    {"Müller", "mueller"}, {"Schmidt", "schmidt"}, {"Wang", "wang"}, {"Zhang", "zhang"},
    {"Kim", "kim"}, {"Jackson", "jackson"}, {"Martin", "martin"}, {"Thompson", "thompson"},
    {"White", "white"}, {"Harris", "harris"}, {"Clark", "clark"}, {"Lewis", "lewis"},
    {"Robinson", "robinson"}, {"Walker", "walker"}, {"Young", "young"}, {"Allen", "allen"},
    {"King", "king"}, {"Wright", "wright"}, {"Scott", "scott"}, {"Torres", "torres"},
    {"Hill", "hill"}, {"Green", "green"}, {"Adams", "adams"}, {"Baker", "baker"},
    {"Sharma", "sharma"}, {"Gupta", "gupta"}, {"Shah", "shah"}, {"Chen", "chen"}, {"Liu", "liu"},
    {"Park", "park"}, {"Tanaka", "tanaka"}, {"Suzuki", "suzuki"}, {"山田", "yamada"}, {"佐藤", "sato"},
    {"Schneider", "schneider"}, {"Fischer", "fischer"}, {"Weber", "weber"}, {"Schäfer", "schaefer"},
    {"Köhler", "koehler"}, {"Ørsted", "orsted"}, {"Nørgaard", "norgaard"}, {"Ñúñez", "nunez"},
    {"Gómez", "gomez"}, {"Fernández", "fernandez"}, {"Dubois", "dubois"}, {"Lefèvre", "lefevre"},
    {"Moreau", "moreau"}, {"Rossi", "rossi"}, {"Russo", "russo"}, {"Bianchi", "bianchi"},
    {"Kowalski", "kowalski"}, {"Wiśniewski", "wisniewski"}, {"Nowak", "nowak"},
    {"Ivanov", "ivanov"}, {"Petrov", "petrov"}, {"O'Brien", "obrien"}, {"Murphy", "murphy"},
    {"Kelly", "kelly"}, {"MacDonald", "macdonald"}, {"Okafor", "okafor"}, {"Mensah", "mensah"},
    {"Silva", "silva"}, {"Santos", "santos"}, {"Oliveira", "oliveira"}, {"Costa", "costa"},
    {"Johansson", "johansson"}, {"Andersson", "andersson"}, {"Nielsen", "nielsen"},
    {"Hansen", "hansen"}, {"Jensen", "jensen"}, {"van der Berg", "vanderberg"},
    {"de Vries", "devries"}, {"Campbell", "campbell"}, {"Mitchell", "mitchell"},
    {"Carter", "carter"}, {"Roberts", "roberts"}, {"Rivera", "rivera"}, {"Flores", "flores"},
    {"Ramirez", "ramirez"},
};

constexpr Name kCompanyWords[] = {
    {"Acme", "acme"}, {"Blue", "blue"}, {"Bright", "bright"}, {"Cedar", "cedar"},
    {"Cloud", "cloud"}, {"Core", "core"}, {"Crimson", "crimson"}, {"Delta", "delta"},
    {"Apex", "apex"}, {"Vertex", "vertex"}, {"Nova", "nova"}, {"Orbit", "orbit"},
    {"Pioneer", "pioneer"}, {"Quantum", "quantum"}, {"Silver", "silver"}, {"Summit", "summit"},
    {"Swift", "swift"}, {"Terra", "terra"}, {"Vector", "vector"}, {"Zenith", "zenith"},
    {"Atlas", "atlas"}, {"Beacon", "beacon"}, {"Cobalt", "cobalt"}, {"Echo", "echo"},
    {"Falcon", "falcon"}, {"Granite", "granite"}, {"Harbor", "harbor"}, {"Horizon", "horizon"},
    {"Iron", "iron"}, {"Juniper", "juniper"}, {"Keystone", "keystone"}, {"Lumen", "lumen"},
    {"Maple", "maple"}, {"Meridian", "meridian"}, {"Nimbus", "nimbus"}, {"Northwind", "northwind"},
    {"Oak", "oak"}, {"Onyx", "onyx"}, {"Pacific", "pacific"}, {"Pinnacle", "pinnacle"},
    {"Polar", "polar"}, {"Prairie", "prairie"}, {"Redwood", "redwood"}, {"River", "river"},
    {"Sage", "sage"}, {"Sierra", "sierra"}, {"Spark", "spark"}, {"Stellar", "stellar"},
    {"Sunrise", "sunrise"}, {"Tidal", "tidal"}, {"Trueline", "trueline"}, {"Union", "union"},
    {"Vista", "vista"}, {"Willow", "willow"}, {"Alpine", "alpine"}, {"Arrow", "arrow"},
    {"Boldline", "boldline"}, {"Clearview", "clearview"}, {"Evergreen", "evergreen"},
    {"Firstlight", "firstlight"}, {"Golden", "golden"}, {"Greenfield", "greenfield"},
    {"Hyper", "hyper"}, {"Indigo", "indigo"}, {"Kinetic", "kinetic"}, {"Lattice", "lattice"},
    {"Liberty", "liberty"}, {"Lunar", "lunar"}, {"Metro", "metro"}, {"Nexus", "nexus"},
    {"Openway", "openway"}, {"Prime", "prime"}, {"Rapid", "rapid"}, {"Signal", "signal"},
    {"Solid", "solid"}, {"Urban", "urban"}, {"Vivid", "vivid"}, {"Wave", "wave"}, {"Zen", "zen"},
    {"Bläck", "blaeck"}, {"Fjord", "fjord"}, {"Nordlys", "nordlys"}, {"Società", "societa"},
    {"Élan", "elan"}, {"Größe", "groesse"},
};

constexpr SV kCompanyKinds[] = {
    "Systems",    "Labs",    "Technologies", "Solutions", "Software", "Analytics",  "Networks",
    "Health",     "Capital", "Partners",     "Logistics", "Media",    "Dynamics",   "Robotics",
    "Energy",     "Foods",   "Bio",          "Data",      "Cloud",    "Digital",    "Security",
    "Consulting", "Group",   "Works",        "Studios",   "Ventures", "Industries", "Financial",
    "Insurance",  "Retail",  "Therapeutics", "Motors",    "AI",       "Learning",   "Payments",
    "Commerce",   "Realty",  "Games",        "Design",    "Marine",
};

constexpr SV kLegalSuffixes[] = {"",     "",     "",      "",       ", Inc.", " Inc.",
                                 " LLC", " Ltd", " GmbH", " Corp.", " & Co.", " S.A."};
constexpr SV kDomainSuffixes[] = {".com", ".com", ".com", ".com", ".io", ".co", ".ai", ".net"};

constexpr SV kStreets[] = {"Main St", "Market St", "Broadway", "High Street", "Oak Avenue",
                           "Park Ave", "King Street", "Mission St", "Elm Street", "Church Road",
                           "Station Road", "Lake Shore Dr", "Congress Ave"};

constexpr Place kUs[] = {{"San Francisco", "California"},
                         {"New York", "New York"},
                         {"Austin", "Texas"},
                         {"Seattle", "Washington"},
                         {"Boston", "Massachusetts"},
                         {"Chicago", "Illinois"},
                         {"Los Angeles", "California"},
                         {"Denver", "Colorado"},
                         {"Atlanta", "Georgia"},
                         {"Miami", "Florida"},
                         {"San Jose", "California"},
                         {"Dallas", "Texas"},
                         {"Raleigh", "North Carolina"},
                         {"Salt Lake City", "Utah"}};
constexpr Place kUk[] = {{"London", "England"},     {"Manchester", "England"},
                         {"Edinburgh", "Scotland"}, {"Bristol", "England"},
                         {"Cardiff", "Wales"},      {"Belfast", "Northern Ireland"}};
constexpr Place kDe[] = {{"Berlin", "Berlin"},
                         {"München", "Bavaria"},
                         {"Hamburg", "Hamburg"},
                         {"Köln", "North Rhine-Westphalia"},
                         {"Frankfurt", "Hesse"}};
constexpr Place kIn[] = {{"Bengaluru", "Karnataka"}, {"Mumbai", "Maharashtra"},
                         {"New Delhi", "Delhi"},     {"Hyderabad", "Telangana"},
                         {"Pune", "Maharashtra"},    {"Chennai", "Tamil Nadu"}};
constexpr Place kCa[] = {{"Toronto", "Ontario"},
                         {"Vancouver", "British Columbia"},
                         {"Montréal", "Quebec"},
                         {"Calgary", "Alberta"}};
constexpr Place kFr[] = {
    {"Paris", "Île-de-France"}, {"Lyon", "Auvergne-Rhône-Alpes"}, {"Toulouse", "Occitanie"}};
constexpr Place kAu[] = {
    {"Sydney", "New South Wales"}, {"Melbourne", "Victoria"}, {"Brisbane", "Queensland"}};
constexpr Place kNl[] = {
    {"Amsterdam", "North Holland"}, {"Rotterdam", "South Holland"}, {"Utrecht", "Utrecht"}};
constexpr Place kEs[] = {
    {"Madrid", "Community of Madrid"}, {"Barcelona", "Catalonia"}, {"Málaga", "Andalusia"}};
constexpr Place kBr[] = {{"São Paulo", "São Paulo"}, {"Rio de Janeiro", "Rio de Janeiro"}};
constexpr Place kSe[] = {{"Stockholm", "Stockholm County"}, {"Göteborg", "Västra Götaland"}};
constexpr Place kIt[] = {{"Milano", "Lombardy"}, {"Roma", "Lazio"}};
constexpr Place kSg[] = {{"Singapore", ""}};
constexpr Place kIe[] = {{"Dublin", "County Dublin"}, {"Cork", "County Cork"}};
constexpr Place kIl[] = {{"Tel Aviv", "Tel Aviv District"}, {"Haifa", "Haifa District"}};
constexpr Place kCh[] = {{"Zürich", "Zurich"}, {"Genève", "Geneva"}};
constexpr Place kJp[] = {{"Tokyo", "Tokyo"}, {"Osaka", "Osaka"}};
constexpr Place kDk[] = {{"København", "Capital Region"}, {"Aarhus", "Central Denmark"}};
constexpr Place kPl[] = {{"Warszawa", "Masovia"}, {"Kraków", "Lesser Poland"}};
constexpr Place kMx[] = {{"Ciudad de México", "CDMX"}, {"Guadalajara", "Jalisco"}};
constexpr Place kAe[] = {{"Dubai", "Dubai"}, {"Abu Dhabi", "Abu Dhabi"}};
constexpr Place kNo[] = {{"Oslo", "Oslo"}, {"Bergen", "Vestland"}};
constexpr Place kFi[] = {{"Helsinki", "Uusimaa"}};
constexpr Place kBe[] = {{"Brussels", "Brussels"}, {"Antwerp", "Flanders"}};
constexpr Place kAt[] = {{"Wien", "Vienna"}};
constexpr Place kZa[] = {{"Cape Town", "Western Cape"}, {"Johannesburg", "Gauteng"}};
constexpr Place kNz[] = {{"Auckland", "Auckland"}, {"Wellington", "Wellington"}};
constexpr Place kKr[] = {{"Seoul", "Seoul"}};
constexpr Place kAr[] = {{"Buenos Aires", "Buenos Aires"}};
constexpr Place kPt[] = {{"Lisboa", "Lisbon"}, {"Porto", "Porto"}};

constexpr Country kCountries[] = {
    {"United States", 4200, "+1", kUs},
    {"United Kingdom", 800, "+44", kUk},
    {"Germany", 500, "+49", kDe},
    {"India", 480, "+91", kIn},
    {"Canada", 400, "+1", kCa},
    {"France", 330, "+33", kFr},
    {"Australia", 300, "+61", kAu},
    {"Netherlands", 220, "+31", kNl},
    {"Spain", 200, "+34", kEs},
    {"Brazil", 180, "+55", kBr},
    {"Sweden", 140, "+46", kSe},
    {"Italy", 130, "+39", kIt},
    {"Singapore", 120, "+65", kSg},
    {"Ireland", 110, "+353", kIe},
    {"Israel", 100, "+972", kIl},
    {"Switzerland", 90, "+41", kCh},
    {"Japan", 85, "+81", kJp},
    {"Denmark", 70, "+45", kDk},
    {"Poland", 65, "+48", kPl},
    {"Mexico", 60, "+52", kMx},
    {"United Arab Emirates", 55, "+971", kAe},
    {"Norway", 50, "+47", kNo},
    {"Finland", 45, "+358", kFi},
    {"Belgium", 45, "+32", kBe},
    {"Austria", 40, "+43", kAt},
    {"South Africa", 40, "+27", kZa},
    {"New Zealand", 35, "+64", kNz},
    {"South Korea", 30, "+82", kKr},
    {"Argentina", 25, "+54", kAr},
    {"Portugal", 25, "+351", kPt},
};

constexpr SV kSoftwareKw[] = {"saas",   "b2b", "cloud computing",  "enterprise software",
                              "devops", "api", "machine learning", "data analytics"};
constexpr SV kInternetKw[] = {"e-commerce",        "marketplace",     "mobile apps",
                              "consumer internet", "online platform", "subscription"};
constexpr SV kFinanceKw[] = {"fintech", "payments",        "banking",   "wealth management",
                             "lending", "risk management", "compliance"};
constexpr SV kHealthKw[] = {"healthcare",      "digital health", "telemedicine",
                            "medical devices", "patient care",   "clinical research"};
constexpr SV kMarketingKw[] = {"digital marketing", "seo",         "content marketing", "branding",
                               "social media",      "advertising", "lead generation"};
constexpr SV kIndustrialKw[] = {"manufacturing",  "supply chain", "logistics",
                                "industrial iot", "automation",   "engineering services"};
constexpr SV kConsumerKw[] = {"retail",  "consumer goods", "omnichannel", "direct to consumer",
                              "fashion", "food & beverage"};
constexpr SV kServicesKw[] = {
    "consulting", "professional services", "outsourcing", "staffing", "training", "strategy"};
constexpr SV kEnergyKw[] = {"renewable energy", "solar",          "clean tech",
                            "sustainability",   "energy storage", "utilities"};
constexpr SV kEducationKw[] = {"edtech", "e-learning", "higher education", "k-12",
                               "online courses"};

constexpr Industry kIndustries[] = {
    {"information technology & services", kSoftwareKw},
    {"computer software", kSoftwareKw},
    {"internet", kInternetKw},
    {"marketing & advertising", kMarketingKw},
    {"financial services", kFinanceKw},
    {"hospital & health care", kHealthKw},
    {"management consulting", kServicesKw},
    {"staffing & recruiting", kServicesKw},
    {"real estate", kConsumerKw},
    {"retail", kConsumerKw},
    {"construction", kIndustrialKw},
    {"education management", kEducationKw},
    {"e-learning", kEducationKw},
    {"telecommunications", kSoftwareKw},
    {"banking", kFinanceKw},
    {"insurance", kFinanceKw},
    {"accounting", kFinanceKw},
    {"medical devices", kHealthKw},
    {"pharmaceuticals", kHealthKw},
    {"biotechnology", kHealthKw},
    {"logistics & supply chain", kIndustrialKw},
    {"mechanical or industrial engineering", kIndustrialKw},
    {"automotive", kIndustrialKw},
    {"electrical/electronic manufacturing", kIndustrialKw},
    {"renewables & environment", kEnergyKw},
    {"oil & energy", kEnergyKw},
    {"consumer goods", kConsumerKw},
    {"food & beverages", kConsumerKw},
    {"apparel & fashion", kConsumerKw},
    {"hospitality", kConsumerKw},
    {"media production", kMarketingKw},
    {"online media", kInternetKw},
    {"computer games", kInternetKw},
    {"computer & network security", kSoftwareKw},
    {"human resources", kServicesKw},
    {"legal services", kServicesKw},
    {"venture capital & private equity", kFinanceKw},
    {"nonprofit organization management", kServicesKw},
    {"government administration", kServicesKw},
    {"research", kHealthKw},
};

constexpr SV kGenericKeywords[] = {
    "b2b", "b2c", "enterprise", "smb", "startup", "innovation", "customer experience", "analytics",
    "artificial intelligence", "mobile", "security", "global", "platform", "services",
};

constexpr SV kTechnologies[] = {
    "Google Analytics", "Gmail", "Google Tag Manager", "Mobile Friendly", "Outlook",
    "Microsoft Office 365", "WordPress.org", "Amazon AWS", "Salesforce", "HubSpot", "Slack",
    "Zendesk", "Nginx", "Apache", "Google Font API", "Facebook Widget",
    "LinkedIn Marketing Solutions", "Hotjar", "Intercom", "Stripe", "Shopify", "React", "Node.js",
    "Vimeo", "YouTube", "Cloudflare DNS", "Google Cloud Hosting", "Microsoft Azure", "Marketo",
    "Pardot", "Mailchimp", "Atlassian Cloud", "Jira", "Confluence", "GitHub", "Docker",
    "Kubernetes", "Segment", "Mixpanel", "Optimizely", "DoubleClick", "Bootstrap", "jQuery",
    "Typekit", "Zoom", "DocuSign", "Workday", "SAP", "Oracle", "Tableau", "Snowflake", "Datadog",
    "New Relic", "Twilio", "SendGrid", "Okta", "Freshdesk", "Drift", "Gong", "Outreach",
};

constexpr Weighted kEmailStatuses[] = {{"Verified", 620},        {"Unverified", 150},
                                       {"Likely to engage", 90}, {"Extrapolated", 60},
                                       {"Guessed", 40},          {"Unavailable", 40}};

constexpr Weighted kCatchAllStatuses[] = {
    {"Not Catch-all", 600}, {"", 220}, {"Catch-all", 100}, {"Unknown", 80}};

constexpr Weighted kStages[] = {
    {"Cold", 600},          {"Approaching", 120},   {"Replied", 70},
    {"Interested", 50},     {"Not Interested", 40}, {"Unresponsive", 60},
    {"Do Not Contact", 20}, {"Bad Data", 15},       {"Changed Job", 25}};

constexpr FundingRound kFundingRounds[] = {
    {"Seed", 250, 250'000, 4'000'000},
    {"Angel", 80, 50'000, 1'500'000},
    {"Series A", 220, 3'000'000, 25'000'000},
    {"Series B", 150, 10'000'000, 80'000'000},
    {"Series C", 80, 25'000'000, 150'000'000},
    {"Series D", 35, 50'000'000, 300'000'000},
    {"Series E", 15, 100'000'000, 500'000'000},
    {"Venture (Round not Specified)", 90, 1'000'000, 50'000'000},
    {"Private Equity", 40, 20'000'000, 900'000'000},
    {"Debt Financing", 40, 5'000'000, 200'000'000},
    {"Other", 20, 100'000, 10'000'000},
};

constexpr SV kContactLists[] = {"Q3 Outreach",     "Webinar Leads",        "Enterprise Prospects",
                                "Conference 2024", "Newsletter, Partners", "Re-engage"};

// clang-format on

// The generator draws distinct technologies with a 64-bit mask.
static_assert(std::size(kTechnologies) <= 64);

}  // namespace

std::span<const Name> first_names() { return kFirstNames; }
std::span<const Name> last_names() { return kLastNames; }
std::span<const Name> company_words() { return kCompanyWords; }
std::span<const std::string_view> company_kinds() { return kCompanyKinds; }
std::span<const std::string_view> legal_suffixes() { return kLegalSuffixes; }
std::span<const std::string_view> domain_suffixes() { return kDomainSuffixes; }
std::span<const std::string_view> streets() { return kStreets; }
std::span<const Country> countries() { return kCountries; }
std::span<const Industry> industries() { return kIndustries; }
std::span<const std::string_view> generic_keywords() { return kGenericKeywords; }
std::span<const std::string_view> technologies() { return kTechnologies; }
std::span<const Weighted> email_statuses() { return kEmailStatuses; }
std::span<const Weighted> catch_all_statuses() { return kCatchAllStatuses; }
std::span<const Weighted> stages() { return kStages; }
std::span<const FundingRound> funding_rounds() { return kFundingRounds; }
std::span<const std::string_view> contact_lists() { return kContactLists; }

}  // namespace contacts::demo::vocab
