package newswire.eslocal;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.apache.lucene.analysis.bn.BengaliAnalyzer;
import org.apache.lucene.analysis.cjk.CJKAnalyzer;
import org.apache.lucene.analysis.de.GermanAnalyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.es.SpanishAnalyzer;
import org.apache.lucene.analysis.fa.PersianAnalyzer;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.hi.HindiAnalyzer;
import org.apache.lucene.analysis.id.IndonesianAnalyzer;
import org.apache.lucene.analysis.it.ItalianAnalyzer;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.apache.lucene.analysis.nl.DutchAnalyzer;
import org.apache.lucene.analysis.pt.PortugueseAnalyzer;
import org.apache.lucene.analysis.ru.RussianAnalyzer;
import org.apache.lucene.analysis.tr.TurkishAnalyzer;
import org.apache.lucene.analysis.uk.UkrainianMorfologikAnalyzer;
import org.apache.lucene.util.SetOnce;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.env.Environment;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.PreBuiltAnalyzerProviderFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.indices.analysis.PreBuiltCacheFactory.CachingStrategy;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Fills two gaps of the Maven Central "integ-test-zip" Elasticsearch distribution, which ships
 * without the analysis-common and rest-root modules:
 * <ul>
 *   <li>the language analyzers the index template names ({@code hindi}, {@code english}, {@code arabic},
 *       {@code bengali}, {@code persian}, {@code russian}, {@code german}, {@code french}, {@code spanish},
 *       {@code portuguese}, {@code italian}, {@code dutch}, {@code turkish}, {@code indonesian} and
 *       {@code cjk}), built from the Lucene classes in lib/lucene-analysis-common, with the stock
 *       {@code stopwords} / {@code stopwords_path} / {@code stem_exclusion} settings
 *       ({@code persian} and {@code cjk} take no stem exclusion: their Lucene classes have none);</li>
 *   <li>{@code ukrainian}, as Elastic's analysis-ukrainian plugin (not part of analysis-common) registers it:
 *       Lucene's {@code UkrainianMorfologikAnalyzer} with its default stopwords and the same settings, from the
 *       lucene-analysis-morfologik and morfologik jars that stack.sh bundles in the plugin folder (jars.txt);</li>
 *   <li>the {@code ngram} token filter, with analysis-common's settings ({@code min_gram}, {@code max_gram},
 *       {@code preserve_original}) and its {@code index.max_ngram_diff} check, which the template's
 *       {@code newswire_grams} analyzer (subword fields) uses;</li>
 *   <li>{@code GET /} and {@code HEAD /}, which elasticsearch-py uses for {@code info()} and {@code ping()}.</li>
 * </ul>
 */
public class NewswireLocalPlugin extends Plugin implements AnalysisPlugin, ActionPlugin {

    private final SetOnce<ClusterService> clusterService = new SetOnce<>();

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService.set(services.clusterService());
        return List.of();
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        return Map.ofEntries(
            Map.entry("hindi", configurable(HindiAnalyzer.getDefaultStopSet(), HindiAnalyzer::new)),
            Map.entry("english", configurable(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, EnglishAnalyzer::new)),
            Map.entry("arabic", configurable(ArabicAnalyzer.getDefaultStopSet(), ArabicAnalyzer::new)),
            Map.entry("bengali", configurable(BengaliAnalyzer.getDefaultStopSet(), BengaliAnalyzer::new)),
            Map.entry("persian", configurable(PersianAnalyzer.getDefaultStopSet(), (stop, exclusion) -> new PersianAnalyzer(stop))),
            Map.entry("russian", configurable(RussianAnalyzer.getDefaultStopSet(), RussianAnalyzer::new)),
            Map.entry("german", configurable(GermanAnalyzer.getDefaultStopSet(), GermanAnalyzer::new)),
            Map.entry("french", configurable(FrenchAnalyzer.getDefaultStopSet(), FrenchAnalyzer::new)),
            Map.entry("spanish", configurable(SpanishAnalyzer.getDefaultStopSet(), SpanishAnalyzer::new)),
            Map.entry("portuguese", configurable(PortugueseAnalyzer.getDefaultStopSet(), PortugueseAnalyzer::new)),
            Map.entry("italian", configurable(ItalianAnalyzer.getDefaultStopSet(), ItalianAnalyzer::new)),
            Map.entry("dutch", configurable(DutchAnalyzer.getDefaultStopSet(), DutchAnalyzer::new)),
            Map.entry("turkish", configurable(TurkishAnalyzer.getDefaultStopSet(), TurkishAnalyzer::new)),
            Map.entry("indonesian", configurable(IndonesianAnalyzer.getDefaultStopSet(), IndonesianAnalyzer::new)),
            Map.entry("cjk", configurable(CJKAnalyzer.getDefaultStopSet(), (stop, exclusion) -> new CJKAnalyzer(stop))),
            Map.entry("ukrainian", configurable(UkrainianMorfologikAnalyzer.getDefaultStopwords(), UkrainianMorfologikAnalyzer::new))
        );
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of("ngram", NewswireLocalPlugin::ngramFilter);
    }

    /** analysis-common's NGramTokenFilterFactory: the same settings, defaults and limit. */
    private static TokenFilterFactory ngramFilter(IndexSettings indexSettings, Environment env, String name, Settings settings) {
        int minGram = settings.getAsInt("min_gram", 1);
        int maxGram = settings.getAsInt("max_gram", 2);
        boolean preserveOriginal = settings.getAsBoolean("preserve_original", false);
        int maxAllowedDiff = indexSettings.getMaxNgramDiff();
        if (maxGram - minGram > maxAllowedDiff) {
            throw new IllegalArgumentException("The difference between max_gram and min_gram in NGram Tokenizer must be less "
                + "than or equal to: [" + maxAllowedDiff + "] but was [" + (maxGram - minGram) + "]. This limit can be set "
                + "by changing the [" + IndexSettings.MAX_NGRAM_DIFF_SETTING.getKey() + "] index level setting.");
        }
        return new AbstractTokenFilterFactory(name, settings) {
            @Override
            public TokenStream create(TokenStream input) {
                return new NGramTokenFilter(input, minGram, maxGram, preserveOriginal);
            }
        };
    }

    @Override
    public List<PreBuiltAnalyzerProviderFactory> getPreBuiltAnalyzerProviderFactories() {
        return List.of(
            prebuilt("hindi", HindiAnalyzer::new),
            prebuilt("english", EnglishAnalyzer::new),
            prebuilt("arabic", ArabicAnalyzer::new),
            prebuilt("bengali", BengaliAnalyzer::new),
            prebuilt("persian", PersianAnalyzer::new),
            prebuilt("russian", RussianAnalyzer::new),
            prebuilt("german", GermanAnalyzer::new),
            prebuilt("french", FrenchAnalyzer::new),
            prebuilt("spanish", SpanishAnalyzer::new),
            prebuilt("portuguese", PortugueseAnalyzer::new),
            prebuilt("italian", ItalianAnalyzer::new),
            prebuilt("dutch", DutchAnalyzer::new),
            prebuilt("turkish", TurkishAnalyzer::new),
            prebuilt("indonesian", IndonesianAnalyzer::new),
            prebuilt("cjk", CJKAnalyzer::new),
            prebuilt("ukrainian", UkrainianMorfologikAnalyzer::new)
        );
    }

    private static PreBuiltAnalyzerProviderFactory prebuilt(String name, Supplier<Analyzer> create) {
        return new PreBuiltAnalyzerProviderFactory(name, CachingStrategy.LUCENE, create);
    }

    /** An analyzer type taking the same settings as the stock language analyzers. */
    private static AnalysisProvider<AnalyzerProvider<? extends Analyzer>> configurable(
        CharArraySet defaultStopWords,
        BiFunction<CharArraySet, CharArraySet, Analyzer> create
    ) {
        return (IndexSettings indexSettings, Environment env, String name, Settings settings) -> {
            Analyzer analyzer = create.apply(
                Analysis.parseStopWords(env, settings, defaultStopWords),
                Analysis.parseStemExclusion(settings, CharArraySet.EMPTY_SET)
            );
            return new AbstractIndexAnalyzerProvider<Analyzer>(name, settings) {
                @Override
                public Analyzer get() {
                    return analyzer;
                }
            };
        };
    }

    @Override
    public Collection<RestHandler> getRestHandlers(
        Settings settings,
        NamedWriteableRegistry namedWriteableRegistry,
        RestController restController,
        ClusterSettings clusterSettings,
        IndexScopedSettings indexScopedSettings,
        SettingsFilter settingsFilter,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<DiscoveryNodes> nodesInCluster,
        Predicate<NodeFeature> clusterSupportsFeature
    ) {
        return List.of(new RootHandler(clusterService));
    }

    /** The body of the stock rest-root module's {@code GET /}. */
    private static final class RootHandler extends BaseRestHandler {
        private final SetOnce<ClusterService> clusterService;

        RootHandler(SetOnce<ClusterService> clusterService) {
            this.clusterService = clusterService;
        }

        @Override
        public String getName() {
            return "newswire_local_root_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            ClusterService cluster = clusterService.get();
            Build build = Build.current();
            return channel -> {
                XContentBuilder body = channel.newBuilder();
                body.startObject()
                    .field("name", cluster.getNodeName())
                    .field("cluster_name", cluster.getClusterName().value())
                    .field("cluster_uuid", cluster.state().metadata().clusterUUID())
                    .startObject("version")
                    .field("number", build.version())
                    .field("build_flavor", build.flavor())
                    .field("build_type", build.type().displayName())
                    .field("build_hash", build.hash())
                    .field("build_date", build.date())
                    .field("build_snapshot", build.isSnapshot())
                    .field("lucene_version", org.apache.lucene.util.Version.LATEST.toString())
                    .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                    .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                    .endObject()
                    .field("tagline", "You Know, for Search")
                    .endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, body));
            };
        }
    }
}
