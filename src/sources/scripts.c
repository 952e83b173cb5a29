/* The script suite (see scripts.h): the letter tables, fonts, rendering,
 * and writing class folders without leaving half of a script. */
#include "scripts.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "image.h"
#include "outdir.h"
#include "tasks.h"

#define SIDE TPL_SCRIPT_SIDE
#define PI_F 3.14159265358979f

/* ---- the letters ------------------------------------------------------------ */

/* Generated once from the Unicode character names (Unicode 14): the name's
 * script prefix dropped, lower case, spaces as '-'. */
static const tpl_letter greek[] = {
    {0x03B1, "alpha"}, {0x03B2, "beta"}, {0x03B3, "gamma"}, {0x03B4, "delta"},
    {0x03B5, "epsilon"}, {0x03B6, "zeta"}, {0x03B7, "eta"}, {0x03B8, "theta"}, {0x03B9, "iota"},
    {0x03BA, "kappa"}, {0x03BB, "lamda"}, {0x03BC, "mu"}, {0x03BD, "nu"}, {0x03BE, "xi"},
    {0x03BF, "omicron"}, {0x03C0, "pi"}, {0x03C1, "rho"}, {0x03C3, "sigma"}, {0x03C4, "tau"},
    {0x03C5, "upsilon"}, {0x03C6, "phi"}, {0x03C7, "chi"}, {0x03C8, "psi"}, {0x03C9, "omega"},
};
static const tpl_letter cyrillic[] = {
    {0x0430, "a"}, {0x0431, "be"}, {0x0432, "ve"}, {0x0433, "ghe"}, {0x0434, "de"},
    {0x0435, "ie"}, {0x0436, "zhe"}, {0x0437, "ze"}, {0x0438, "i"}, {0x0439, "short-i"},
    {0x043A, "ka"}, {0x043B, "el"}, {0x043C, "em"}, {0x043D, "en"}, {0x043E, "o"},
    {0x043F, "pe"}, {0x0440, "er"}, {0x0441, "es"}, {0x0442, "te"}, {0x0443, "u"},
    {0x0444, "ef"}, {0x0445, "ha"}, {0x0446, "tse"}, {0x0447, "che"}, {0x0448, "sha"},
    {0x0449, "shcha"}, {0x044A, "hard-sign"}, {0x044B, "yeru"}, {0x044C, "soft-sign"},
    {0x044D, "e"}, {0x044E, "yu"}, {0x044F, "ya"},
};
static const tpl_letter armenian[] = {
    {0x0561, "ayb"}, {0x0562, "ben"}, {0x0563, "gim"}, {0x0564, "da"}, {0x0565, "ech"},
    {0x0566, "za"}, {0x0567, "eh"}, {0x0568, "et"}, {0x0569, "to"}, {0x056A, "zhe"},
    {0x056B, "ini"}, {0x056C, "liwn"}, {0x056D, "xeh"}, {0x056E, "ca"}, {0x056F, "ken"},
    {0x0570, "ho"}, {0x0571, "ja"}, {0x0572, "ghad"}, {0x0573, "cheh"}, {0x0574, "men"},
    {0x0575, "yi"}, {0x0576, "now"}, {0x0577, "sha"}, {0x0578, "vo"}, {0x0579, "cha"},
    {0x057A, "peh"}, {0x057B, "jheh"}, {0x057C, "ra"}, {0x057D, "seh"}, {0x057E, "vew"},
    {0x057F, "tiwn"}, {0x0580, "reh"}, {0x0581, "co"}, {0x0582, "yiwn"}, {0x0583, "piwr"},
    {0x0584, "keh"}, {0x0585, "oh"}, {0x0586, "feh"},
};
static const tpl_letter georgian[] = {
    {0x10D0, "an"}, {0x10D1, "ban"}, {0x10D2, "gan"}, {0x10D3, "don"}, {0x10D4, "en"},
    {0x10D5, "vin"}, {0x10D6, "zen"}, {0x10D7, "tan"}, {0x10D8, "in"}, {0x10D9, "kan"},
    {0x10DA, "las"}, {0x10DB, "man"}, {0x10DC, "nar"}, {0x10DD, "on"}, {0x10DE, "par"},
    {0x10DF, "zhar"}, {0x10E0, "rae"}, {0x10E1, "san"}, {0x10E2, "tar"}, {0x10E3, "un"},
    {0x10E4, "phar"}, {0x10E5, "khar"}, {0x10E6, "ghan"}, {0x10E7, "qar"}, {0x10E8, "shin"},
    {0x10E9, "chin"}, {0x10EA, "can"}, {0x10EB, "jil"}, {0x10EC, "cil"}, {0x10ED, "char"},
    {0x10EE, "xan"}, {0x10EF, "jhan"}, {0x10F0, "hae"},
};
static const tpl_letter hebrew[] = {
    {0x05D0, "alef"}, {0x05D1, "bet"}, {0x05D2, "gimel"}, {0x05D3, "dalet"}, {0x05D4, "he"},
    {0x05D5, "vav"}, {0x05D6, "zayin"}, {0x05D7, "het"}, {0x05D8, "tet"}, {0x05D9, "yod"},
    {0x05DB, "kaf"}, {0x05DC, "lamed"}, {0x05DE, "mem"}, {0x05E0, "nun"}, {0x05E1, "samekh"},
    {0x05E2, "ayin"}, {0x05E4, "pe"}, {0x05E6, "tsadi"}, {0x05E7, "qof"}, {0x05E8, "resh"},
    {0x05E9, "shin"}, {0x05EA, "tav"},
};
static const tpl_letter arabic[] = {
    {0x0627, "alef"}, {0x0628, "beh"}, {0x062A, "teh"}, {0x062B, "theh"}, {0x062C, "jeem"},
    {0x062D, "hah"}, {0x062E, "khah"}, {0x062F, "dal"}, {0x0630, "thal"}, {0x0631, "reh"},
    {0x0632, "zain"}, {0x0633, "seen"}, {0x0634, "sheen"}, {0x0635, "sad"}, {0x0636, "dad"},
    {0x0637, "tah"}, {0x0638, "zah"}, {0x0639, "ain"}, {0x063A, "ghain"}, {0x0641, "feh"},
    {0x0642, "qaf"}, {0x0643, "kaf"}, {0x0644, "lam"}, {0x0645, "meem"}, {0x0646, "noon"},
    {0x0647, "heh"}, {0x0648, "waw"}, {0x064A, "yeh"},
};
static const tpl_letter devanagari[] = {
    {0x0905, "a"}, {0x0906, "aa"}, {0x0907, "i"}, {0x0908, "ii"}, {0x0909, "u"}, {0x090A, "uu"},
    {0x090B, "vocalic-r"}, {0x090F, "e"}, {0x0910, "ai"}, {0x0913, "o"}, {0x0914, "au"},
    {0x0915, "ka"}, {0x0916, "kha"}, {0x0917, "ga"}, {0x0918, "gha"}, {0x0919, "nga"},
    {0x091A, "ca"}, {0x091B, "cha"}, {0x091C, "ja"}, {0x091D, "jha"}, {0x091E, "nya"},
    {0x091F, "tta"}, {0x0920, "ttha"}, {0x0921, "dda"}, {0x0922, "ddha"}, {0x0923, "nna"},
    {0x0924, "ta"}, {0x0925, "tha"}, {0x0926, "da"}, {0x0927, "dha"}, {0x0928, "na"},
    {0x092A, "pa"}, {0x092B, "pha"}, {0x092C, "ba"}, {0x092D, "bha"}, {0x092E, "ma"},
    {0x092F, "ya"}, {0x0930, "ra"}, {0x0932, "la"}, {0x0933, "lla"}, {0x0935, "va"},
    {0x0936, "sha"}, {0x0937, "ssa"}, {0x0938, "sa"}, {0x0939, "ha"},
};
static const tpl_letter bengali[] = {
    {0x0985, "a"}, {0x0986, "aa"}, {0x0987, "i"}, {0x0988, "ii"}, {0x0989, "u"}, {0x098A, "uu"},
    {0x098B, "vocalic-r"}, {0x098F, "e"}, {0x0990, "ai"}, {0x0993, "o"}, {0x0994, "au"},
    {0x0995, "ka"}, {0x0996, "kha"}, {0x0997, "ga"}, {0x0998, "gha"}, {0x0999, "nga"},
    {0x099A, "ca"}, {0x099B, "cha"}, {0x099C, "ja"}, {0x099D, "jha"}, {0x099E, "nya"},
    {0x099F, "tta"}, {0x09A0, "ttha"}, {0x09A1, "dda"}, {0x09A2, "ddha"}, {0x09A3, "nna"},
    {0x09A4, "ta"}, {0x09A5, "tha"}, {0x09A6, "da"}, {0x09A7, "dha"}, {0x09A8, "na"},
    {0x09AA, "pa"}, {0x09AB, "pha"}, {0x09AC, "ba"}, {0x09AD, "bha"}, {0x09AE, "ma"},
    {0x09AF, "ya"}, {0x09B0, "ra"}, {0x09B2, "la"}, {0x09B6, "sha"}, {0x09B7, "ssa"},
    {0x09B8, "sa"}, {0x09B9, "ha"},
};
static const tpl_letter tamil[] = {
    {0x0B85, "a"}, {0x0B86, "aa"}, {0x0B87, "i"}, {0x0B88, "ii"}, {0x0B89, "u"}, {0x0B8A, "uu"},
    {0x0B8E, "e"}, {0x0B8F, "ee"}, {0x0B90, "ai"}, {0x0B92, "o"}, {0x0B93, "oo"},
    {0x0B94, "au"}, {0x0B95, "ka"}, {0x0B99, "nga"}, {0x0B9A, "ca"}, {0x0B9C, "ja"},
    {0x0B9E, "nya"}, {0x0B9F, "tta"}, {0x0BA3, "nna"}, {0x0BA4, "ta"}, {0x0BA8, "na"},
    {0x0BA9, "nnna"}, {0x0BAA, "pa"}, {0x0BAE, "ma"}, {0x0BAF, "ya"}, {0x0BB0, "ra"},
    {0x0BB1, "rra"}, {0x0BB2, "la"}, {0x0BB3, "lla"}, {0x0BB4, "llla"}, {0x0BB5, "va"},
    {0x0BB7, "ssa"}, {0x0BB8, "sa"}, {0x0BB9, "ha"},
};
static const tpl_letter thai[] = {
    {0x0E01, "ko-kai"}, {0x0E02, "kho-khai"}, {0x0E04, "kho-khwai"}, {0x0E06, "kho-rakhang"},
    {0x0E07, "ngo-ngu"}, {0x0E08, "cho-chan"}, {0x0E09, "cho-ching"}, {0x0E0A, "cho-chang"},
    {0x0E0B, "so-so"}, {0x0E0C, "cho-choe"}, {0x0E0D, "yo-ying"}, {0x0E0E, "do-chada"},
    {0x0E0F, "to-patak"}, {0x0E10, "tho-than"}, {0x0E11, "tho-nangmontho"},
    {0x0E12, "tho-phuthao"}, {0x0E13, "no-nen"}, {0x0E14, "do-dek"}, {0x0E15, "to-tao"},
    {0x0E16, "tho-thung"}, {0x0E17, "tho-thahan"}, {0x0E18, "tho-thong"}, {0x0E19, "no-nu"},
    {0x0E1A, "bo-baimai"}, {0x0E1B, "po-pla"}, {0x0E1C, "pho-phung"}, {0x0E1D, "fo-fa"},
    {0x0E1E, "pho-phan"}, {0x0E1F, "fo-fan"}, {0x0E20, "pho-samphao"}, {0x0E21, "mo-ma"},
    {0x0E22, "yo-yak"}, {0x0E23, "ro-rua"}, {0x0E24, "ru"}, {0x0E25, "lo-ling"}, {0x0E26, "lu"},
    {0x0E27, "wo-waen"}, {0x0E28, "so-sala"}, {0x0E29, "so-rusi"}, {0x0E2A, "so-sua"},
    {0x0E2B, "ho-hip"}, {0x0E2C, "lo-chula"}, {0x0E2D, "o-ang"}, {0x0E2E, "ho-nokhuk"},
};
static const tpl_letter ethiopic[] = {
    {0x1200, "ha"}, {0x1208, "la"}, {0x1210, "hha"}, {0x1218, "ma"}, {0x1220, "sza"},
    {0x1228, "ra"}, {0x1230, "sa"}, {0x1238, "sha"}, {0x1240, "qa"}, {0x1260, "ba"},
    {0x1268, "va"}, {0x1270, "ta"}, {0x1278, "ca"}, {0x1280, "xa"}, {0x1290, "na"},
    {0x1298, "nya"}, {0x12A0, "glottal-a"}, {0x12A8, "ka"}, {0x12B8, "kxa"}, {0x12C8, "wa"},
    {0x12D0, "pharyngeal-a"}, {0x12D8, "za"}, {0x12E0, "zha"}, {0x12E8, "ya"}, {0x12F0, "da"},
    {0x1300, "ja"}, {0x1308, "ga"}, {0x1320, "tha"}, {0x1328, "cha"}, {0x1330, "pha"},
    {0x1338, "tsa"}, {0x1340, "tza"}, {0x1348, "fa"}, {0x1350, "pa"},
};
static const tpl_letter hiragana[] = {
    {0x3042, "a"}, {0x3044, "i"}, {0x3046, "u"}, {0x3048, "e"}, {0x304A, "o"}, {0x304B, "ka"},
    {0x304D, "ki"}, {0x304F, "ku"}, {0x3051, "ke"}, {0x3053, "ko"}, {0x3055, "sa"},
    {0x3057, "si"}, {0x3059, "su"}, {0x305B, "se"}, {0x305D, "so"}, {0x305F, "ta"},
    {0x3061, "ti"}, {0x3064, "tu"}, {0x3066, "te"}, {0x3068, "to"}, {0x306A, "na"},
    {0x306B, "ni"}, {0x306C, "nu"}, {0x306D, "ne"}, {0x306E, "no"}, {0x306F, "ha"},
    {0x3072, "hi"}, {0x3075, "hu"}, {0x3078, "he"}, {0x307B, "ho"}, {0x307E, "ma"},
    {0x307F, "mi"}, {0x3080, "mu"}, {0x3081, "me"}, {0x3082, "mo"}, {0x3084, "ya"},
    {0x3086, "yu"}, {0x3088, "yo"}, {0x3089, "ra"}, {0x308A, "ri"}, {0x308B, "ru"},
    {0x308C, "re"}, {0x308D, "ro"}, {0x308F, "wa"}, {0x3092, "wo"}, {0x3093, "n"},
};
static const tpl_letter katakana[] = {
    {0x30A2, "a"}, {0x30A4, "i"}, {0x30A6, "u"}, {0x30A8, "e"}, {0x30AA, "o"}, {0x30AB, "ka"},
    {0x30AD, "ki"}, {0x30AF, "ku"}, {0x30B1, "ke"}, {0x30B3, "ko"}, {0x30B5, "sa"},
    {0x30B7, "si"}, {0x30B9, "su"}, {0x30BB, "se"}, {0x30BD, "so"}, {0x30BF, "ta"},
    {0x30C1, "ti"}, {0x30C4, "tu"}, {0x30C6, "te"}, {0x30C8, "to"}, {0x30CA, "na"},
    {0x30CB, "ni"}, {0x30CC, "nu"}, {0x30CD, "ne"}, {0x30CE, "no"}, {0x30CF, "ha"},
    {0x30D2, "hi"}, {0x30D5, "hu"}, {0x30D8, "he"}, {0x30DB, "ho"}, {0x30DE, "ma"},
    {0x30DF, "mi"}, {0x30E0, "mu"}, {0x30E1, "me"}, {0x30E2, "mo"}, {0x30E4, "ya"},
    {0x30E6, "yu"}, {0x30E8, "yo"}, {0x30E9, "ra"}, {0x30EA, "ri"}, {0x30EB, "ru"},
    {0x30EC, "re"}, {0x30ED, "ro"}, {0x30EF, "wa"}, {0x30F2, "wo"}, {0x30F3, "n"},
};
static const tpl_letter hangul[] = {
    {0x3131, "kiyeok"}, {0x3132, "ssangkiyeok"}, {0x3134, "nieun"}, {0x3137, "tikeut"},
    {0x3138, "ssangtikeut"}, {0x3139, "rieul"}, {0x3141, "mieum"}, {0x3142, "pieup"},
    {0x3143, "ssangpieup"}, {0x3145, "sios"}, {0x3146, "ssangsios"}, {0x3147, "ieung"},
    {0x3148, "cieuc"}, {0x3149, "ssangcieuc"}, {0x314A, "chieuch"}, {0x314B, "khieukh"},
    {0x314C, "thieuth"}, {0x314D, "phieuph"}, {0x314E, "hieuh"}, {0x314F, "a"}, {0x3150, "ae"},
    {0x3151, "ya"}, {0x3152, "yae"}, {0x3153, "eo"}, {0x3154, "e"}, {0x3155, "yeo"},
    {0x3156, "ye"}, {0x3157, "o"}, {0x3158, "wa"}, {0x3159, "wae"}, {0x315A, "oe"},
    {0x315B, "yo"}, {0x315C, "u"}, {0x315D, "weo"}, {0x315E, "we"}, {0x315F, "wi"},
    {0x3160, "yu"}, {0x3161, "eu"}, {0x3162, "yi"}, {0x3163, "i"},
};

#define SCRIPT(name, fonts) {#name, fonts, (int)(sizeof name / sizeof *name), name}
const tpl_script tpl_scripts[] = {
    SCRIPT(greek, TPL_NOTO_CORE),      SCRIPT(cyrillic, TPL_NOTO_CORE),
    SCRIPT(armenian, TPL_NOTO_CORE),   SCRIPT(georgian, TPL_NOTO_CORE),
    SCRIPT(hebrew, TPL_NOTO_CORE),     SCRIPT(arabic, TPL_NOTO_CORE),
    SCRIPT(devanagari, TPL_NOTO_CORE), SCRIPT(bengali, TPL_NOTO_CORE),
    SCRIPT(tamil, TPL_NOTO_CORE),      SCRIPT(thai, TPL_NOTO_CORE),
    SCRIPT(ethiopic, TPL_NOTO_CORE),   SCRIPT(hiragana, TPL_NOTO_CJK),
    SCRIPT(katakana, TPL_NOTO_CJK),    SCRIPT(hangul, TPL_NOTO_CJK),
};
static_assert(sizeof tpl_scripts / sizeof *tpl_scripts == TPL_N_SCRIPTS,
              "TPL_N_SCRIPTS counts the scripts");

/* ---- options ------------------------------------------------------------------ */

void tpl_scripts_opts_default(tpl_scripts_opts *o) {
    *o = (tpl_scripts_opts){.seed = TPL_TASK_SPLIT_SEED,
                            .train_per_class = TPL_SCRIPT_TRAIN_PER_CLASS,
                            .test_per_class = TPL_SCRIPT_TEST_PER_CLASS,
                            .font_dir = {TPL_NOTO_CORE_DIR, TPL_NOTO_CJK_DIR},
                            .package = {"fonts-noto-core", "fonts-noto-cjk"}};
}

static int find_script(const char *name, size_t len) {
    for (int i = 0; i < TPL_N_SCRIPTS; i++)
        if (strlen(tpl_scripts[i].name) == len && !memcmp(tpl_scripts[i].name, name, len))
            return i;
    return -1;
}

static void unknown_script(const char *name, size_t len, tpl_err *err) {
    char known[256] = "";
    size_t k = 0;
    for (int i = 0; i < TPL_N_SCRIPTS && k < sizeof known; i++)
        k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "",
                              tpl_scripts[i].name);
    tpl_err_set(err, "scripts: unknown script '%.*s' (known: %s)", (int)len, name, known);
}

int tpl_scripts_select(const char *list, int which[], int *n, tpl_err *err) {
    *n = 0;
    if (!list || !strcmp(list, "all")) {
        for (int i = 0; i < TPL_N_SCRIPTS; i++) which[(*n)++] = i;
        return 0;
    }
    for (const char *s = list;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        int i = find_script(s, len);
        for (int j = 0; i >= 0 && j < *n; j++)
            if (which[j] == i) {
                tpl_err_set(err, "scripts: '%s' is named twice", tpl_scripts[i].name);
                return -1;
            }
        if (i < 0) {
            unknown_script(s, len, err);
            return -1;
        }
        which[(*n)++] = i;
        if (!comma) return 0;
        s = comma + 1;
    }
}

/* ---- fonts ---------------------------------------------------------------------- */

static const char *const font_suffixes[] = {".ttf", ".otf", ".ttc", NULL};

/* "DIR: problem (it comes with the Debian package PKG: apt-get install PKG)" */
static void package_error(const tpl_scripts_opts *o, int src, const char *problem,
                          tpl_err *err) {
    tpl_err_set(err, "%s: %s (it comes with the Debian package %s: apt-get install %s)",
                o->font_dir[src], problem, o->package[src], o->package[src]);
}

/* The font files of directory src, sorted, as "dir/name". */
static int list_fonts(const tpl_scripts_opts *o, int src, tpl_paths *out, tpl_err *err) {
    tpl_paths names = {0};
    if (tpl_paths_files(&names, o->font_dir[src], font_suffixes, err)) {
        if (access(o->font_dir[src], F_OK)) package_error(o, src, strerror(errno), err);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < names.n && !rc; i++) {
        size_t len = strlen(o->font_dir[src]) + strlen(names.path[i]) + 2;
        char *full = malloc(len);
        if (full) snprintf(full, len, "%s/%s", o->font_dir[src], names.path[i]);
        rc = !full || tpl_paths_push(out, full);
        free(full);
    }
    tpl_paths_free(&names);
    if (rc) tpl_err_set(err, "%s: out of memory listing fonts", o->font_dir[src]);
    else if (out->n == 0) package_error(o, src, "no fonts there", err), rc = 1;
    return rc ? -1 : 0;
}

/* The script's code points as a character set (cs->ch malloc'd). */
static int script_chars(const tpl_script *s, tpl_charset *cs) {
    uint32_t *ch = malloc(sizeof *ch * (size_t)s->n);
    if (!ch) return -1;
    for (int i = 0; i < s->n; i++) ch[i] = s->letter[i].ch;
    *cs = (tpl_charset){ch, s->n};
    return 0;
}

/* Adds font f to usable[slot[j]] for each set j it covers. */
static int add_usable(const tpl_paths *fonts, const uint8_t *has, int m, const int *slot,
                      tpl_paths usable[], tpl_err *err) {
    for (int f = 0; f < fonts->n; f++)
        for (int j = 0; j < m; j++)
            if (has[(size_t)f * m + j] && tpl_paths_push(&usable[slot[j]], fonts->path[f])) {
                tpl_err_set(err, "fonts: out of memory");
                return -1;
            }
    return 0;
}

/* usable[k] = the fonts of src's directory with every letter of script
 * which[k], for the scripts whose fonts come from src. */
static int fonts_of(const tpl_scripts_opts *o, int src, const int which[], int n,
                    tpl_paths usable[], tpl_err *err) {
    tpl_charset sets[TPL_N_SCRIPTS];
    int slot[TPL_N_SCRIPTS], m = 0, rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        const tpl_script *s = &tpl_scripts[which[k]];
        if (s->fonts != src) continue;
        rc = script_chars(s, &sets[m]);
        if (!rc) slot[m++] = k;
    }
    tpl_paths fonts = {0};
    uint8_t *has = NULL;
    if (rc) tpl_err_set(err, "fonts: out of memory");
    if (!rc && m > 0) rc = list_fonts(o, src, &fonts, err);
    if (!rc && m > 0 && !(has = malloc((size_t)fonts.n * (size_t)m))) {
        tpl_err_set(err, "fonts: out of memory");
        rc = -1;
    }
    if (!rc && m > 0) rc = tpl_fonts_cover(&fonts, sets, m, has, err) ||
                           add_usable(&fonts, has, m, slot, usable, err);
    for (int j = 0; j < m; j++) free((void *)sets[j].ch);
    free(has);
    tpl_paths_free(&fonts);
    return rc ? -1 : 0;
}

int tpl_scripts_fonts(const tpl_scripts_opts *o, const int which[], int n, tpl_paths usable[],
                      tpl_err *err) {
    memset(usable, 0, sizeof *usable * (size_t)n);
    for (int src = 0; src < TPL_N_NOTO; src++)
        if (fonts_of(o, src, which, n, usable, err)) {
            for (int k = 0; k < n; k++) tpl_paths_free(&usable[k]);
            return -1;
        }
    return 0;
}

/* ---- building ------------------------------------------------------------------ */

enum { STREAM_TRAIN, STREAM_TEST, STREAM_FONTS, N_STREAMS };

/* Script s's own stream of random draws for one purpose. */
static uint64_t stream_seed(uint64_t seed, int s, int stream) {
    uint64_t x = seed ^ (0xA0761D6478BD642FULL * (uint64_t)(s * N_STREAMS + stream + 1));
    return tpl_splitmix64(&x);
}

void tpl_script_set_free(tpl_script_set *s) {
    if (!s) return;
    tpl_paths_free(&s->train_fonts);
    tpl_paths_free(&s->test_fonts);
    tpl_dataset_free(&s->train);
    tpl_dataset_free(&s->test);
    memset(s, 0, sizeof *s);
}

/* The test fonts: round(n / 4), at least 1, of a seeded shuffle; both
 * lists keep usable's (sorted) order. */
static int split_fonts(const tpl_script *s, const tpl_paths *usable, uint64_t seed,
                       tpl_paths *train, tpl_paths *test, tpl_err *err) {
    const int n = usable->n;
    if (n < 2) {
        tpl_err_set(err, "%s: %d font%s with all %d letters, need 2 (one to train, one to "
                    "test)", s->name, n, n == 1 ? " has them" : "s", s->n);
        return -1;
    }
    int *order = malloc(sizeof *order * (size_t)n);
    uint8_t *is_test = calloc((size_t)n, 1);
    int rc = !order || !is_test;
    if (!rc) {
        tpl_rng rng;
        tpl_rng_seed(&rng, seed);
        for (int i = 0; i < n; i++) order[i] = i;
        tpl_shuffle(order, n, &rng);
        const int n_test = (n + 2) / 4 > 0 ? (n + 2) / 4 : 1;
        for (int i = 0; i < n_test; i++) is_test[order[i]] = 1;
    }
    for (int f = 0; !rc && f < n; f++)
        rc = tpl_paths_push(is_test[f] ? test : train, usable->path[f]);
    free(order);
    free(is_test);
    if (rc) tpl_err_set(err, "%s: out of memory", s->name);
    return rc ? -1 : 0;
}

/* The extents of a half's fonts: ext[f * n + i] the larger side, in ems, of
 * letter i in font f; ref[f] the one TPL_SCRIPT_EXTENT_MIN..MAX pixels are
 * drawn for, the letter nine tenths of the way up font f's sorted extents
 * (not the largest: Tamil's widest letters are twice its typical one). */
typedef struct extents {
    int n;
    float *ext, *ref;
} extents;

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static int measure(tpl_printer *p, const tpl_script *s, extents *e, tpl_err *err) {
    const int nf = tpl_printer_fonts(p);
    e->n = s->n;
    e->ext = malloc(sizeof *e->ext * (size_t)nf * (size_t)s->n);
    e->ref = malloc(sizeof *e->ref * (size_t)nf);
    float sorted[256];
    if (!e->ext || !e->ref) {
        tpl_err_set(err, "%s: out of memory", s->name);
        return -1;
    }
    for (int f = 0; f < nf; f++) {
        for (int i = 0; i < s->n; i++) {
            float w, h;
            if (tpl_printer_extent(p, f, s->letter[i].ch, &w, &h, err)) return -1;
            e->ext[f * s->n + i] = sorted[i] = w > h ? w : h;
        }
        qsort(sorted, (size_t)s->n, sizeof *sorted, cmp_float);
        e->ref[f] = sorted[s->n * 9 / 10];
        if (e->ref[f] <= 0.0f) {
            tpl_err_set(err, "%s: the %s letters are empty", tpl_printer_path(p, f), s->name);
            return -1;
        }
    }
    return 0;
}

static void extents_free(extents *e) {
    free(e->ext);
    free(e->ref);
}

/* The draws, in a fixed order: font, span, angle, stroke, dx, dy, paper,
 * ink.  The size makes the font's reference letter span the drawn pixels,
 * but no letter more than TPL_SCRIPT_FIT. */
static void draw_style(tpl_rng *rng, int n_fonts, const extents *e, int letter,
                       tpl_print_style *st) {
    st->font = (int)tpl_rng_below(rng, (uint32_t)n_fonts);
    const int span = TPL_SCRIPT_EXTENT_MIN +
                     (int)tpl_rng_below(rng, TPL_SCRIPT_EXTENT_MAX - TPL_SCRIPT_EXTENT_MIN + 1);
    float size = (float)span / e->ref[st->font];
    const float ext = e->ext[st->font * e->n + letter];
    if (size * ext > (float)TPL_SCRIPT_FIT) size = (float)TPL_SCRIPT_FIT / ext;
    st->size = size < 1.0f ? 1 : size > 1000.0f ? 1000 : (int)lroundf(size);
    st->angle = (2.0f * tpl_rng_uniform(rng) - 1.0f) * TPL_SCRIPT_ANGLE_DEG * (PI_F / 180.0f);
    st->stroke = tpl_rng_uniform(rng) * TPL_SCRIPT_STROKE_MAX;
    st->dx = (int)tpl_rng_below(rng, 2 * TPL_SCRIPT_SHIFT + 1) - TPL_SCRIPT_SHIFT;
    st->dy = (int)tpl_rng_below(rng, 2 * TPL_SCRIPT_SHIFT + 1) - TPL_SCRIPT_SHIFT;
    memset(st->bg, (int)tpl_rng_below(rng, TPL_SCRIPT_PAPER_MAX + 1), 3);
    memset(st->fg, TPL_SCRIPT_INK_MIN + (int)tpl_rng_below(rng, 256 - TPL_SCRIPT_INK_MIN), 3);
}

/* per_class images of each letter of s in fonts, image i of letter i % n. */
static int render_half(const tpl_script *s, const tpl_paths *fonts, int per_class,
                       uint64_t seed, tpl_dataset *out, tpl_err *err) {
    tpl_charset cs;
    if (script_chars(s, &cs)) {
        tpl_err_set(err, "%s: out of memory", s->name);
        return -1;
    }
    tpl_printer *p = tpl_printer_open_chars(fonts, &cs, err);
    free((void *)cs.ch);
    if (!p) return -1;
    extents e = {0};
    const int n = per_class * s->n;
    int rc = measure(p, s, &e, err);
    if (!rc && tpl_dataset_alloc(out, n, SIDE, SIDE, 1, s->n)) {
        tpl_err_set(err, "%s: out of memory for %d images", s->name, n);
        rc = -1;
    }
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    for (int i = 0; !rc && i < n; i++) {
        tpl_print_style st;
        draw_style(&rng, tpl_printer_fonts(p), &e, i % s->n, &st);
        out->labels[i] = (uint8_t)(i % s->n);
        rc = tpl_printer_render_char(p, s->letter[i % s->n].ch, &st, SIDE, 1,
                                     out->pixels + (size_t)i * SIDE * SIDE, err);
    }
    if (rc) tpl_dataset_free(out);
    extents_free(&e);
    tpl_printer_close(p);
    return rc ? -1 : 0;
}

static int check_counts(const tpl_scripts_opts *o, tpl_err *err) {
    if (o->train_per_class < 1 || o->train_per_class > TPL_SCRIPT_MAX_PER_CLASS ||
        o->test_per_class < 1 || o->test_per_class > TPL_SCRIPT_MAX_PER_CLASS) {
        tpl_err_set(err, "scripts: %d train and %d test images per class, want 1..%d each",
                    o->train_per_class, o->test_per_class, TPL_SCRIPT_MAX_PER_CLASS);
        return -1;
    }
    return 0;
}

int tpl_script_build(const tpl_scripts_opts *o, int script, const tpl_paths *usable,
                     tpl_script_set *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    if (script < 0 || script >= TPL_N_SCRIPTS) {
        tpl_err_set(err, "scripts: no script %d", script);
        return -1;
    }
    const tpl_script *s = out->script = &tpl_scripts[script];
    int rc = check_counts(o, err) ||
             split_fonts(s, usable, stream_seed(o->seed, script, STREAM_FONTS),
                         &out->train_fonts, &out->test_fonts, err) ||
             render_half(s, &out->train_fonts, o->train_per_class,
                         stream_seed(o->seed, script, STREAM_TRAIN), &out->train, err) ||
             render_half(s, &out->test_fonts, o->test_per_class,
                         stream_seed(o->seed, script, STREAM_TEST), &out->test, err);
    if (rc) tpl_script_set_free(out);
    return rc ? -1 : 0;
}

/* ---- our directories -------------------------------------------------------------- */

#define PATH_MAX_LEN 4096

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* What this module writes, by depth: 1 a script (classes.txt, fonts.txt,
 * train, test), 2 a half (class directories), 3 a class (PNG files); and
 * what loading a script as a folder task adds: DEPTH_CACHE, its decode
 * cache directory (*.cache). */
#define DEPTH_CACHE 9
static int ours(const char *name, int depth, int is_dir) {
    switch (depth) {
    case 1: return is_dir ? !strcmp(name, "train") || !strcmp(name, "test") ||
                                !strcmp(name, ".templar-cache")
                          : !strcmp(name, "classes.txt") || !strcmp(name, "fonts.txt");
    case 2: return is_dir;
    case 3: return !is_dir && ends_with(name, ".png");
    case DEPTH_CACHE: return !is_dir && ends_with(name, ".cache");
    default: return 0;
    }
}

/* The depth of an entry of a directory at depth. */
static int depth_below(const char *name, int depth) {
    return depth == 1 && !strcmp(name, ".templar-cache") ? DEPTH_CACHE : depth + 1;
}

/* Checks that everything under path (a directory at depth) is ours (else
 * err names the first entry that is not, and -1), or, with remove, removes
 * what is ours, best effort: anything else stays, and so do the directories
 * that hold it.  Links are not followed. */
static int walk(const char *path, int depth, int remove, tpl_err *err) {
    DIR *d = opendir(path);
    if (!d) {
        if (!remove) tpl_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[PATH_MAX_LEN];
        struct stat st;
        int n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        int ok = n > 0 && (size_t)n < sizeof sub && lstat(sub, &st) == 0 &&
                 (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) &&
                 ours(e->d_name, depth, S_ISDIR(st.st_mode));
        if (!ok && !remove) {
            rc = tpl_outdir_foreign(path, e->d_name, err);
        } else if (ok && S_ISDIR(st.st_mode)) {
            rc = walk(sub, depth_below(e->d_name, depth), remove, err) && !remove ? -1 : 0;
        } else if (ok && remove) {
            unlink(sub);
        }
    }
    closedir(d);
    if (remove) rmdir(path);
    return rc;
}

/* An earlier suite's script directory holds only what walk knows. */
static int script_dir_check(const char *path, tpl_err *err) { return walk(path, 1, 0, err); }
static void script_dir_remove(const char *path) { walk(path, 1, 1, NULL); }

static const char *const beside_scripts[] = {"preview.png", NULL};
static const tpl_outdir_kind script_dirs = {
    .what = "script directory",
    .check = script_dir_check,
    .remove = script_dir_remove,
    .files = beside_scripts,
};

/* "a/b" into buf (PATH_MAX_LEN bytes); -1 (err set) when it does not fit. */
static int join(char *buf, const char *a, const char *b, tpl_err *err) {
    return tpl_path_join(buf, PATH_MAX_LEN, a, b, err);
}

int tpl_scripts_prepare(const char *dir, const int which[], int n, int *created, tpl_err *err) {
    const char *names[TPL_N_SCRIPTS];
    *created = 0;
    if (n < 0 || n > TPL_N_SCRIPTS) {
        tpl_err_set(err, "scripts: %d scripts to check, want 0..%d", n, TPL_N_SCRIPTS);
        return -1;
    }
    for (int i = 0; i < n; i++) names[i] = tpl_scripts[which[i]].name;
    return tpl_outdir_prepare(dir, &script_dirs, names, n, created, err);
}

/* ---- writing ---------------------------------------------------------------------- */

static int make_dir(const char *path, tpl_err *err) {
    if (mkdir(path, 0777) == 0) return 0;
    tpl_err_set(err, "%s: cannot create directory (%s)", path, strerror(errno));
    return -1;
}

/* The UTF-8 bytes of ch (at most 4) into buf, NUL-terminated. */
static void utf8(uint32_t ch, char buf[5]) {
    if (ch < 0x80) {
        buf[0] = (char)ch, buf[1] = 0;
    } else if (ch < 0x800) {
        buf[0] = (char)(0xC0 | ch >> 6), buf[1] = (char)(0x80 | (ch & 63)), buf[2] = 0;
    } else if (ch < 0x10000) {
        buf[0] = (char)(0xE0 | ch >> 12), buf[1] = (char)(0x80 | (ch >> 6 & 63));
        buf[2] = (char)(0x80 | (ch & 63)), buf[3] = 0;
    } else {
        buf[0] = (char)(0xF0 | ch >> 18), buf[1] = (char)(0x80 | (ch >> 12 & 63));
        buf[2] = (char)(0x80 | (ch >> 6 & 63)), buf[3] = (char)(0x80 | (ch & 63)), buf[4] = 0;
    }
}

/* order[0..n) = the letters of s in strcmp order of their names. */
static void sorted_letters(const tpl_script *s, int *order) {
    for (int i = 0; i < s->n; i++) {
        int j = i;
        for (; j > 0 && strcmp(s->letter[order[j - 1]].name, s->letter[i].name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
}

static int write_classes(FILE *fp, const void *ctx) {
    const tpl_script *s = ctx;
    int order[256];
    sorted_letters(s, order);
    for (int i = 0; i < s->n; i++) {
        char c[5];
        utf8(s->letter[order[i]].ch, c);
        fprintf(fp, "%s\t%s\tU+%04X\n", s->letter[order[i]].name, c,
                (unsigned)s->letter[order[i]].ch);
    }
    return ferror(fp) ? -1 : 0;
}

static int write_fonts(FILE *fp, const void *ctx) {
    const tpl_script_set *set = ctx;
    for (int i = 0; i < set->train_fonts.n; i++) fprintf(fp, "train %s\n", set->train_fonts.path[i]);
    for (int i = 0; i < set->test_fonts.n; i++) fprintf(fp, "test %s\n", set->test_fonts.path[i]);
    return ferror(fp) ? -1 : 0;
}

/* dir/<class>/<nnnn>.png for every image of d. */
static int write_half(const char *dir, const tpl_script *s, const tpl_dataset *d,
                      tpl_err *err) {
    char path[PATH_MAX_LEN];
    if (make_dir(dir, err)) return -1;
    for (int k = 0; k < s->n; k++)
        if (join(path, dir, s->letter[k].name, err) || make_dir(path, err)) return -1;
    int next[256] = {0};
    for (int i = 0; i < d->n; i++) {
        const int k = d->labels[i];
        int len = snprintf(path, sizeof path, "%s/%s/%04d.png", dir, s->letter[k].name,
                           next[k]++);
        if (len < 0 || len >= (int)sizeof path) {
            tpl_err_set(err, "%s: path too long", dir);
            return -1;
        }
        if (tpl_png_write_plain(path, d->pixels + (size_t)i * d->h * d->w * d->c, d->w, d->h,
                                d->c, err))
            return -1;
    }
    return 0;
}

/* The whole of set into dir, a new empty directory. */
static int write_set(const char *dir, const tpl_script_set *set, tpl_err *err) {
    char path[PATH_MAX_LEN];
    return join(path, dir, "classes.txt", err) ||
                   tpl_write_atomic(path, write_classes, set->script, err) ||
                   join(path, dir, "fonts.txt", err) ||
                   tpl_write_atomic(path, write_fonts, set, err) ||
                   join(path, dir, "train", err) ||
                   write_half(path, set->script, &set->train, err) ||
                   join(path, dir, "test", err) ||
                   write_half(path, set->script, &set->test, err)
               ? -1
               : 0;
}

/* The first n images of d (fewer when d has fewer), as a new dataset. */
static int head_of(const tpl_dataset *d, int n, tpl_dataset *out) {
    if (n > d->n) n = d->n;
    if (tpl_dataset_alloc(out, n, d->h, d->w, d->c, d->classes)) return -1;
    if (n > 0) {
        memcpy(out->pixels, d->pixels, (size_t)n * d->h * d->w * d->c);
        memcpy(out->labels, d->labels, (size_t)n);
    }
    return 0;
}

/* The basename of path without its extension, at most size - 1 bytes. */
static void font_name(const char *path, char *buf, size_t size) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot ? (size_t)(dot - base) : strlen(base);
    snprintf(buf, size, "%.*s", (int)len, base);
}

static void report(const tpl_scripts_opts *o, const tpl_script_set *set) {
    if (!o->progress) return;
    const int a = set->train_fonts.n, b = set->test_fonts.n;
    fprintf(o->progress, "%s: %d letters -> %d train images in %d font%s / %d test images in "
            "%d font%s (", set->script->name, set->script->n, set->train.n, a, a > 1 ? "s" : "",
            set->test.n, b, b > 1 ? "s" : "");
    for (int i = 0; i < set->test_fonts.n; i++) {
        char name[128];
        font_name(set->test_fonts.path[i], name, sizeof name);
        fprintf(o->progress, "%s%s", i ? ", " : "", name);
    }
    fprintf(o->progress, ")\n");
    fflush(o->progress);
}

/* What writing the suite needs of every script. */
typedef struct suite {
    const tpl_scripts_opts *o;
    const int *which;
    const tpl_paths *usable; /* the fonts of each */
    tpl_dataset *preview;    /* 2 per script, or NULL */
    int preview_n;
} suite;

/* Builds script k of the suite (ctx) into tmp, and its preview rows. */
static int build_one(const char *tmp, int k, const void *ctx, tpl_err *err) {
    const suite *su = ctx;
    tpl_dataset *preview = su->preview ? su->preview + 2 * k : NULL;
    tpl_script_set set;
    if (tpl_script_build(su->o, su->which[k], &su->usable[k], &set, err)) return -1;
    int rc = write_set(tmp, &set, err);
    if (!rc) report(su->o, &set);
    if (!rc && preview && (head_of(&set.train, su->preview_n, &preview[0]) ||
                           head_of(&set.test, su->preview_n, &preview[1]))) {
        tpl_err_set(err, "%s: out of memory for the preview", set.script->name);
        rc = -1;
    }
    tpl_script_set_free(&set);
    return rc ? -1 : 0;
}

int tpl_scripts_save(const char *dir, const tpl_scripts_opts *o, const int which[], int n,
                     tpl_dataset *preview, int preview_n, tpl_err *err) {
    if (preview) memset(preview, 0, sizeof *preview * 2 * (size_t)n);
    if (n < 1 || n > TPL_N_SCRIPTS || check_counts(o, err)) {
        if (n < 1 || n > TPL_N_SCRIPTS)
            tpl_err_set(err, "scripts: %d scripts to write, want 1..%d", n, TPL_N_SCRIPTS);
        return -1;
    }
    tpl_paths usable[TPL_N_SCRIPTS];
    const char *names[TPL_N_SCRIPTS];
    if (tpl_scripts_fonts(o, which, n, usable, err)) return -1;
    for (int k = 0; k < n; k++) names[k] = tpl_scripts[which[k]].name;
    const suite su = {o, which, usable, preview, preview_n};
    int rc = tpl_outdir_write(dir, &script_dirs, names, n, build_one, &su, err);
    for (int k = 0; k < n; k++) tpl_paths_free(&usable[k]);
    if (rc && preview)
        for (int k = 0; k < 2 * n; k++) tpl_dataset_free(&preview[k]);
    return rc ? -1 : 0;
}
